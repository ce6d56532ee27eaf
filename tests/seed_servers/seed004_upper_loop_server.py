import socket
#买手机
phone=socket.socket(socket.AF_INET,socket.SOCK_STREAM)
#绑定手机卡
phone.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
phone.bind(('192.168.11.52',8080))#127.0.0.1指的就是自己这台机器的IP地址
#开机
phone.listen(5)#5代表最大挂起的链接数
#等电话链接
print('starting...')
while True:   #链接循环
    conn,addr=phone.accept()
    print('客户端IP:%s,客户端端口:%s'%(addr[0],addr[1]))
    while True:            #通信循环
        try:                  #用到try是因为有时候会发生但无法预知的错误
            data=conn.recv(1024)  #最大收1024
            if not data:break  #针对linux
            print(data.decode('utf-8'))
            conn.send(data.upper())
        except ConnectionResetError:
            break
#6、挂电话
        conn.close()       #断开连接
#7.关机
phone.close()
