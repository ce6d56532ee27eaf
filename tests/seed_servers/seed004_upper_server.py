import socket
#买手机
phone=socket.socket(socket.AF_INET,socket.SOCK_STREAM)   # 打开了这个服务端最后要关闭
#绑定手机卡
phone.bind(('127.0.0.1',8080))#127.0.0.1指的就是自己这台机器的IP地址
#开机
phone.listen(5)#5代表最大挂起的链接数
#等电话链接
conn,addr=phone.accept()       # 等待建立链接accept()等待建立
print('客户端IP:%s,客户端端口:%s'%(addr[0],addr[1]))
data=conn.recv(1024)  #最大收1024       recv()接受数据,括号内最大接收量
print(data.decode('utf-8'))
conn.send(data.upper())      # send()发送数据
#6、挂电话
conn.close()           # 建立的链接要关闭
#7.关机
phone.close()
